/* Writing a folder as a POSIX ustar archive, so that exports of folder formats (YOLO, VOC)
 * can be downloaded as one file without a compression library. */
#ifndef AN_TAR_H
#define AN_TAR_H

#include "base/err.h"

/* Writes every regular file and folder under dir (recursively, in name order, symlinks
 * skipped) into a new ustar archive at out_path, with names relative to dir under the
 * top-level folder name top (e.g. "export"). Modes are 0644 for files and 0755 for folders,
 * owner 0, so the archive does not depend on who ran the export. AN_EINVAL naming the file
 * when a path is too long for ustar (over 255 bytes, or a last part over 100); AN_EIO when
 * reading or writing fails. The archive is written under a temporary name and renamed, so
 * out_path appears whole or not at all. */
int an_tar_folder(const char *dir, const char *top, const char *out_path, an_err *err);

#endif
