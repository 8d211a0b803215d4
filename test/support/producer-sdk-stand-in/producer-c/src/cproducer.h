#ifndef CPRODUCER_STAND_IN_H
#define CPRODUCER_STAND_IN_H

const char *cproducer_stand_in_name(void);

#endif
