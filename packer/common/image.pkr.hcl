# Pharos role image (hpc-controller, hpc-compute): the base image booted under
# QEMU with its own kernel (direct kernel boot), provisioned by the role's
# image-time Ansible playbook, cleaned of anything machine-specific and
# written out as a compressed qcow2.
#
# One template serves every role: packer/<role>/ holds a link to this file and
# a role.auto.pkrvars.hcl naming the role. Pharos (lib/images/role.ts) runs
# `packer build` in packer/<role>/ with -var for everything below; a human can
# run the same command line, which the target log prints.
#
# Runs on Debian's Packer 1.6.6 (qemu and ansible built in). Current Packer
# needs the plugins: `packer plugins install github.com/hashicorp/qemu` and
# `.../hashicorp/ansible` (a `required_plugins` block is not used because 1.6.6
# rejects it).

variable "role" {
  type        = string
  description = "Image role: hpc-controller or hpc-compute."
}

variable "base_qcow2" {
  type        = string
  description = "Absolute path of the base image (image:base)."
}

variable "base_sha256" {
  type        = string
  description = "sha256 of the base image, verified by Packer before use."
}

variable "kernel" {
  type        = string
  description = "Kernel for direct kernel boot (from image:base)."
}

variable "initrd" {
  type        = string
  description = "Initrd for direct kernel boot (from image:base)."
}

variable "kernel_cmdline" {
  type    = string
  default = "root=/dev/vda rw console=ttyS0,115200n8 net.ifnames=1"
}

variable "accelerator" {
  type        = string
  default     = "tcg"
  description = "kvm where `pharos doctor` proved it works, else tcg."
}

variable "memory" {
  type    = number
  default = 2048
}

variable "cpus" {
  type    = number
  default = 2
}

variable "disk_size" {
  type        = string
  default     = "3G"
  description = "Virtual size of the image (VM overlays must be at least this big); the guest grows its filesystem at boot."
}

variable "output_directory" {
  type = string
}

variable "ssh_private_key_file" {
  type        = string
  description = "Private half of the throwaway key pair made for this build."
}

variable "firstboot_config" {
  type        = string
  description = "pharos-firstboot config text (hostname, the build key), commas doubled for -fw_cfg."
}

variable "playbook_file" {
  type        = string
  default     = ""
  description = "Playbook to run; default ansible/playbooks/image-<role>.yml of this checkout."
}

variable "with_gpu_drivers" {
  type    = bool
  default = false
}

variable "boot_files_dir" {
  type        = string
  description = "Where the provisioned image's kernel and initrd are downloaded to."
}

variable "ssh_timeout" {
  type    = string
  default = "15m"
}

variable "ansible_config" {
  type        = string
  default     = ""
  description = "ansible.cfg to use; default ansible/ansible.cfg of this checkout."
}

locals {
  playbook       = var.playbook_file != "" ? var.playbook_file : "${path.root}/../../ansible/playbooks/image-${var.role}.yml"
  ansible_config = var.ansible_config != "" ? var.ansible_config : "${path.root}/../../ansible/ansible.cfg"
}

source "qemu" "image" {
  vm_name          = "${var.role}.qcow2"
  disk_image       = true
  iso_url          = "file://${var.base_qcow2}"
  iso_checksum     = "sha256:${var.base_sha256}"
  use_backing_file = false
  disk_size        = var.disk_size
  format           = "qcow2"
  disk_interface   = "virtio"
  disk_discard     = "unmap"
  disk_compression = true
  skip_compaction  = false
  net_device       = "virtio-net"
  accelerator      = var.accelerator
  memory           = var.memory
  cpus             = var.cpus
  headless         = true
  boot_wait        = "1s"
  output_directory = var.output_directory

  # Direct kernel boot: the base image has no boot loader. fw_cfg carries the
  # build's public key and hostname to pharos-firstboot. The -netdev override
  # only narrows Packer's default SSH forward (all interfaces) to 127.0.0.1;
  # Packer fills in {{ .SSHHostPort }} and keeps its default NIC device.
  qemuargs = [
    ["-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"],
    ["-kernel", var.kernel],
    ["-initrd", var.initrd],
    ["-append", var.kernel_cmdline],
    ["-fw_cfg", "name=opt/pharos/config,string=${var.firstboot_config}"],
    ["-serial", "file:${var.output_directory}/../${var.role}-console.log"],
  ]

  communicator         = "ssh"
  ssh_username         = "root"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = var.ssh_timeout
  shutdown_command     = "systemctl poweroff"
  shutdown_timeout     = "5m"
}

build {
  sources = ["source.qemu.image"]

  # Boot finished (or degraded, which still provisions) and fresh package lists.
  # For the build only (undone in the cleanup below): dpkg skips its fsync per
  # unpacked file, and man-db's index trigger (mandb over every manual page,
  # after each apt run) is off; the daily man-db timer builds the index in a VM.
  provisioner "shell" {
    inline = [
      "systemctl is-system-running --wait || true",
      "echo PHAROS-PHASE provisioning",
      "echo force-unsafe-io > /etc/dpkg/dpkg.cfg.d/pharos-image-build",
      "echo 'man-db man-db/auto-update boolean false' | debconf-set-selections",
      "rm -f /var/lib/man-db/auto-update",
      "DEBIAN_FRONTEND=noninteractive apt-get update -q",
    ]
  }

  provisioner "ansible" {
    playbook_file = local.playbook
    user          = "root"
    use_proxy     = false
    extra_arguments = [
      "--extra-vars", "pharos_image_role=${var.role} pharos_gpu_drivers=${var.with_gpu_drivers} ansible_python_interpreter=/usr/bin/python3",
    ]
    # Packer's throwaway guest on a forwarded localhost port gets a new host
    # key every build; the cluster's VMs are pinned, this one cannot be.
    ansible_env_vars = ["ANSIBLE_CONFIG=${local.ansible_config}", "ANSIBLE_HOST_KEY_CHECKING=False", "ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0"]
  }

  # The provisioned kernel may differ from the base one (upgrades, drivers):
  # the VMs boot the image's own kernel and initrd.
  provisioner "shell" {
    inline = [
      "mkdir -p /run/pharos-boot",
      "cp \"$(ls -1 /boot/vmlinuz-* | sort -V | tail -n1)\" /run/pharos-boot/vmlinuz",
      "cp \"$(ls -1 /boot/initrd.img-* | sort -V | tail -n1)\" /run/pharos-boot/initrd.img",
    ]
  }

  provisioner "file" {
    direction   = "download"
    source      = "/run/pharos-boot/vmlinuz"
    destination = "${var.boot_files_dir}/vmlinuz"
  }

  provisioner "file" {
    direction   = "download"
    source      = "/run/pharos-boot/initrd.img"
    destination = "${var.boot_files_dir}/initrd.img"
  }

  # Nothing machine-specific stays in the image: each VM gets its own machine
  # id, host keys and keys from pharos-firstboot. Freed blocks are discarded so
  # the compaction step drops them.
  provisioner "shell" {
    inline = [
      "echo PHAROS-PHASE cleanup",
      "rm -f /etc/dpkg/dpkg.cfg.d/pharos-image-build",
      "echo 'man-db man-db/auto-update boolean true' | debconf-set-selections",
      "if [ -d /var/lib/man-db ]; then touch /var/lib/man-db/auto-update; fi",
      "apt-get clean",
      "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/* /var/tmp/* /run/pharos-boot",
      "find /var/log -type f -exec truncate -s 0 {} +",
      "journalctl --rotate >/dev/null 2>&1 || true",
      "journalctl --vacuum-time=1s >/dev/null 2>&1 || true",
      "truncate -s 0 /etc/machine-id",
      "rm -f /var/lib/dbus/machine-id /etc/ssh/ssh_host_* /root/.ssh/authorized_keys /root/.bash_history",
      "rm -f /etc/systemd/network/10-pharos-cluster.network /etc/systemd/network/20-pharos-mgmt.network",
      "sync",
      "fstrim -v / || true",
    ]
  }
}
