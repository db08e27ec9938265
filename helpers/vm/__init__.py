"""The guest: launching it, SSH, its images and direct boot, the cloud-init seed, readings and
probes from inside."""
