"""The command line: argument parsing and rendering (tables, progress bars); the work happens in the layers below."""
