/* Stand-in of producer-c's library: one function the stand-in plugin calls, so that it links to it. */
#include "cproducer.h"
#include "kvspic.h"

const char *cproducer_stand_in_name(void)
{
    return "producer-c stand-in on " KVSPIC_STAND_IN_NAME;
}

/* Links PIC's thread naming into the library, as producer-c links PIC's. */
int cproducer_stand_in_thread_name(char *name, size_t len)
{
    return kvspic_stand_in_thread_name(name, len);
}
