"""The node's output topics: one table for the node, bag evaluation, live replay and its launch file."""

# relative topic name -> message type name (what the node advertises; optional ones marked)
TOPICS = {
    "depth/image": "sensor_msgs/msg/Image",
    "depth/camera_info": "sensor_msgs/msg/CameraInfo",
    "depth/image_raw": "sensor_msgs/msg/Image",         # publish_depth_mm
    "depth/confidence": "sensor_msgs/msg/Image",
    "occlusion/boundary": "sensor_msgs/msg/Image",
    "occlusion/mask": "sensor_msgs/msg/Image",
    "points": "sensor_msgs/msg/PointCloud2",            # publish_points
    "depth_boundary": "modot_ros_msgs/msg/DepthBoundary",
    "depth_mixture": "modot_ros_msgs/msg/DepthMixture",  # publish_mixture
}
# role -> topic of the outputs a live replay scores
SCORED_ROLES = {"depth": "depth/image", "info": "depth/camera_info", "boundary": "occlusion/boundary",
                "confidence": "depth/confidence"}
# what a live replay records (the scored outputs and the mask, small enough for long runs)
RECORDED = (*SCORED_ROLES.values(), "occlusion/mask")
