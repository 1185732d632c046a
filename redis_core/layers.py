"""SharedRedisChannelLayer: channels-redis's layer on the manager's connections."""

from channels_redis.core import RedisChannelLayer

from . import get_manager, options

__all__ = ["SharedRedisChannelLayer"]


class SharedRedisChannelLayer(RedisChannelLayer):
    """A RedisChannelLayer that borrows the manager's connection for the running loop.

    It never creates or closes a pool: the address is REDIS_URL's, the pool the manager's.
    """

    brpop_timeout = options.LAYER_BLOCKING_POP

    def __init__(self, hosts=None, **config):
        if hosts:
            raise ValueError(
                "SharedRedisChannelLayer takes no 'hosts': the address comes from REDIS_URL. "
                "Remove 'hosts' from CHANNEL_LAYERS."
            )
        # One shard: the manager's Redis. The placeholder is never connected to.
        super().__init__(hosts=[{"address": "managed-by-redis-core"}], **config)

    def __str__(self):
        return f"{type(self).__name__}(manager={get_manager()!r})"

    def create_pool(self, index):
        raise RuntimeError("SharedRedisChannelLayer never creates pools; the manager does.")

    def connection(self, index):
        if index != 0:
            raise ValueError(f"There is only one Redis (REDIS_URL); you asked for {index}.")
        return get_manager().async_client()

    async def close_pools(self):
        """Pools belong to the manager and close with their loop; only wait for cleaners."""
        await self.wait_received()
