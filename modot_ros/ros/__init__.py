"""The only subpackage that imports rclpy: the node and its wiring (sync, QoS, diagnostics)."""
