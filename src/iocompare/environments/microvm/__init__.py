"""The microVM wing: QEMU microvm and Firecracker, their guest image and the serial protocol."""
