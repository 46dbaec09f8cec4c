// idsign: key administration against the token, and a client of idsignd.
#include "cli/common.h"

int main(int argc, char** argv) { return idsign::cli::RunIdsign(argc, argv); }
