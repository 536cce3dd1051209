role = "hpc-compute"
