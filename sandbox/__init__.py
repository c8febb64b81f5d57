"""Local emulators of ActiveCampaign, Google People and Tawk, and a website-activity store, for
tests, the demo, benchmarks and the docker-compose service. See sandbox/README.md."""

from sandbox.server import Sandbox

__all__ = ["Sandbox"]
