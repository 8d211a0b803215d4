#ifndef KVSPIC_STAND_IN_H
#define KVSPIC_STAND_IN_H

#define KVSPIC_STAND_IN_NAME "the PIC stand-in"

#endif
