"""The guest's life: where it runs (target), its images and their cache on the host, launching it
(lease watch, route, run marks, disk space checked), SSH, direct boot, the cloud-init seed, and
what it sees from inside (readings, probes)."""
