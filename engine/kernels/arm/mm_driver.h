#include "../mm_driver.h" /* the tile driver, shared by all ISAs */
