// Module MeshSim: see docs/ARCHITECTURE.md, Modules, for its boundary.
