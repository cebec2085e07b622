"""Cases: intake, the handling lifecycle, the timeline, listing and search."""
