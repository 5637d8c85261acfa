// Module KubeClient: see DESIGN.md §2 for its boundary.
