/** Image builders: base (mmdebstrap), role images (Packer), store, first-boot config. */
export { BASE_PACKAGES, KERNEL_CMDLINE, buildBaseImage, defaultBaseDir, type BaseImage, type BaseImageOptions } from './base.js';
export {
  IMAGE_ROLES,
  buildRoleImage,
  defaultPlaybookFor,
  packerDirFor,
  roleImageVars,
  type BaseImageRef,
  type ImageRole,
  type RoleImage,
  type RoleImageOptions,
} from './role.js';
export { cloudImage, parseChecksum, type CloudImageOptions } from './cloud.js';
export { cacheLookup, cachePath, cachedSha256, defaultCacheDir, storeInCache } from './store.js';
export { fileDigest } from '../util/digest.js';
export { BASE_IMAGE_INPUTS, DEPLOY_ONLY_ROLE_FILES, playbookRoles, roleImageInputs } from './inputs.js';
export * from './firstboot.js';
