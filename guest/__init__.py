"""Image recipes: the probe guest (build.py) and a Debian cloud image (cloud/build.py), each
built from Debian packages into .cache/ and runnable on its own: python3 -m guest.build."""
