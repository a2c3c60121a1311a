"""Journey events for the halt tests: 10 per second, failed or not."""


def failing_journeys(from_s: int, until_s: int, bad: bool, duration_ms: float = 100) -> list[dict]:
    return [{"t_s": i / 10, "user": f"u{i % 20}", "journey": "app_open",
             "app_version": "4.2.0", "platform": "ios", "phase": "incident",
             "ok": not bad, "duration_ms": duration_ms, "retries": 0, "requests": 1}
            for i in range(from_s * 10, until_s * 10)]
