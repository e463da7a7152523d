"""The Medic: reads a failed stack's own events, finds the root cause, and retries with a fix
or rolls back so that a failed deployment never leaves resources behind."""
