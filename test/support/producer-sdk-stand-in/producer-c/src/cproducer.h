#ifndef CPRODUCER_STAND_IN_H
#define CPRODUCER_STAND_IN_H

#include <stddef.h>

const char *cproducer_stand_in_name(void);
int cproducer_stand_in_thread_name(char *name, size_t len);

#endif
