"""The subscriber list: append-only change events folded into a snapshot, imports and exports."""
