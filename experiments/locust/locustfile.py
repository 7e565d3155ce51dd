"""The quickstart's scenario as a locustfile in the seed's style: a user logs in on start,
then browses with three weighted tasks and a random pause between them.

Runs under soy (`experiments/locust-quickstart.yaml`) or alone:
    locust -f experiments/locust/locustfile.py --headless -u 10 -r 5 -t 30s -H http://127.0.0.1:18280
"""

import random

from locust import FastHttpUser, between, task


class DemoUser(FastHttpUser):
    wait_time = between(0.1, 0.3)

    def on_start(self):
        with self.client.post("/login", json={"user": f"user{id(self) % 1000}"},
                              catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"login answered {r.status_code}")
                return
            self.token = r.json().get("token", "")

    def headers(self):
        return {"Authorization": f"Bearer {getattr(self, 'token', '')}"}

    @task(3)
    def list_exercises(self):
        self.client.get("/api/exercises", headers=self.headers())

    @task(2)
    def exercise_detail(self):
        self.client.get(f"/api/exercises/{random.randint(1, 500)}",
                        name="/api/exercises/[id]", headers=self.headers())

    @task(1)
    def other(self):
        self.client.get("/api/other")
