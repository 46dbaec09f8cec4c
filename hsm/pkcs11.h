// The single include point for the Cryptoki API: the pkcs11.h p11-kit ships.
#ifndef IDSIGN_HSM_PKCS11_H_
#define IDSIGN_HSM_PKCS11_H_

#include <p11-kit/pkcs11.h>

#endif  // IDSIGN_HSM_PKCS11_H_
