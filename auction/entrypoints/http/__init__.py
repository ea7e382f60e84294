"""HTTP plumbing shared by every entrypoint: middleware, limits, input guards, uvicorn protocols."""
