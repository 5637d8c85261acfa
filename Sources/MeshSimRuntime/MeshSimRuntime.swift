// Module MeshSimRuntime: see DESIGN.md §2 for its boundary.
