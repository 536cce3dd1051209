role = "hpc-controller"
