role = "cloud-gpu-worker"
