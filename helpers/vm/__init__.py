"""The guest's life: where it runs (target), its images and their cache on the host, launching it
(lease watch, route, run marks and the run's lease on a real host, a free MAC, disk space
checked), SSH, direct boot, the cloud-init seed, and what it sees from inside (readings,
probes)."""
