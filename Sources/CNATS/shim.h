#ifndef OMS_CNATS_SHIM_H
#define OMS_CNATS_SHIM_H
#include <nats/nats.h>
#endif
