#ifndef TRIT_H
#define TRIT_H
#include <stddef.h>
#include <stdint.h>
#define TRIT_VERSION_MAJOR 0
#define TRIT_VERSION_MINOR 1
#define TRIT_VERSION_PATCH 0
#define TRIT_VERSION_NUMBER (TRIT_VERSION_MAJOR * 1000000 + TRIT_VERSION_MINOR * 1000 + TRIT_VERSION_PATCH)
int32_t trit_version_number(void);
#endif
