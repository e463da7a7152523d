"""The offline AWS runtime (moto) that runs the real workflow in-process."""
