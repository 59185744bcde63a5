"""rosbag2 files without ROS: reading, writing, the typestore, ground-truth bags."""
