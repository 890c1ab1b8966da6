"""What environments need besides the host: container images and guest artifacts, built locally."""
