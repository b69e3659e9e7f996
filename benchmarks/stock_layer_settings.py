"""FaceCase's settings with channels_redis' own layer, as shipped before facecase/channel_layer.py: only for the
comparison row of ``python -m benchmarks.live_channel``."""

from facecase.settings import *  # noqa: F403
from facecase.settings import REDIS_URL, env_str

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("FACECASE_CHANNEL_PREFIX", "facecase")},
    }
}
