/**
 * The errnos the host's uAPI answers with (include/uapi/asm-generic/errno-base.h and
 * errno.h), by name as the kernel writes them; the number is what userspace sees as -ret.
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOTTY: 25,
  ENOSPC: 28,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
} as const;

export type Errno = keyof typeof ERRNO;
