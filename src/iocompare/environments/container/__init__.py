"""The container wing: Docker and Podman environments, their engine, probe and image."""
