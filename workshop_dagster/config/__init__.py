"""What a user sets: the settings (every WORKSHOP_* variable, checked when the code location
loads), the mind variants (`variants.yaml`) and their prompt personas."""
