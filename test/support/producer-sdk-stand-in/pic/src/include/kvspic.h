#ifndef KVSPIC_STAND_IN_H
#define KVSPIC_STAND_IN_H

#include <stddef.h>

#define KVSPIC_STAND_IN_NAME "the PIC stand-in"

int kvspic_stand_in_thread_name(char *name, size_t len);

#endif
