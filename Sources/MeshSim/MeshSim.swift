// Module MeshSim: see DESIGN.md §2 for its boundary.
