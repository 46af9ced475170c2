; general operands in every addressing mode; ends in supervisor mode
        .org 16
start:  movea.w #0x100, a0
        move.w  #0x1234, d0
        move.w  d0, (a0)+        ; 0x100 = 0x1234, a0 = 0x102
        move.w  #0x5678, (a0)+   ; 0x102 = 0x5678, a0 = 0x104
        move.w  -(a0), d1        ; d1 = 0x5678, a0 = 0x102
        move.w  -(a0), d2        ; d2 = 0x1234, a0 = 0x100
        move.w  2(a0), d3        ; d3 = 0x5678
        add.w   (a0), d3         ; d3 = 0x68ac
        move.w  (a0)+, (a0)+     ; reads 0x100, writes 0x102, a0 = 0x104
        move.w  sr, d0           ; the mode, read without a trap on the 68000
        stop
