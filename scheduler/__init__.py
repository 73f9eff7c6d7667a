"""The job registry (stable ids), the runner, and the scheduler process (`flask scheduler run`)."""
