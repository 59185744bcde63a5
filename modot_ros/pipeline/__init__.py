"""Per-frame outputs without rclpy: options, messages, clouds, edge points, stamp sync."""
