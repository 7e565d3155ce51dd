"""A constant load as a `LoadTestShape`, in the style of the seed's `loadshapes/`: ramp to
USERS at SPAWN_RATE, hold until RUN_TIME seconds, then stop."""

from locust import LoadTestShape


class ConstantShape(LoadTestShape):
    USERS = 10
    SPAWN_RATE = 5
    RUN_TIME = 20

    def tick(self):
        if self.get_run_time() >= self.RUN_TIME:
            return None
        return (self.USERS, self.SPAWN_RATE)
