role = "cloud-base"
