// Module MeshStats: see DESIGN.md §2 for its boundary.
