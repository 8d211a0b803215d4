/*
 * PIC v1.2.0's defaultGetThreadName in brief: pthread_getname_np without _GNU_SOURCE, so <pthread.h>
 * does not declare it. GCC 13 and older warn about the implicit declaration; GCC 14 refuses it.
 */
#include <pthread.h>
#include <stddef.h>
#include "kvspic.h"

int kvspic_stand_in_thread_name(char *name, size_t len)
{
    return pthread_getname_np(pthread_self(), name, len);
}
