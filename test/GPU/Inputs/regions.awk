# Summarizes the arena regions of a matquant-gpu-run manifest:
#   regions N aligned|MISALIGNED in-order|OVERLAP end E arena A f32 F i8 I
# where every region must start at a multiple of 256 bytes, after the end
# of the one before; E is the end of the last region, A the arena's size.
/^arg arena / { arena = $3 }
/^region / {
  if ($2 % 256 != 0) misaligned = 1
  if ($2 < end) overlap = 1
  end = $2 + $3
  n++
  types[$4]++
}
END {
  printf "regions %d %s %s end %d arena %d f32 %d i8 %d\n", n,
         misaligned ? "MISALIGNED" : "aligned", overlap ? "OVERLAP" : "in-order",
         end, arena, types["f32"], types["i8"]
}
