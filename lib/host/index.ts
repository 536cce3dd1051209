export { runDoctor, formatDoctor, TOOLS, type DoctorReport, type DoctorCheck, type DoctorOptions, type CheckStatus } from './doctor.js';
export { probeKvm, probeGuest, cachedProbeKvm, probeCacheKey, probeAcceleration, resetAccelerationProbe, findKernel, type GuestProbeResult, type AccelerationDecision, type ProbeOptions } from './kvm.js';
export { checkPlanPcie, checkNodeDevices, pciInventory, type PcieReport, type NodePciCheck, type InventoryRow, type PciProblem } from './pcie.js';
export { listPciDevices, readPciDevice, iommuState, vfioModules, iommuGroupMembers, type HostRoots, type HostPciDevice } from './sysfs.js';
