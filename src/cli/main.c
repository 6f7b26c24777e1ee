#include <stdio.h>
int main(void)
{
    puts("annot");
    return 0;
}
