import { useEffect, useState } from 'react';

/** A search field that reports its text after the typing pauses (300 ms). */
export function SearchBox({ placeholder, onSearch, label }: { readonly placeholder: string; readonly label: string; readonly onSearch: (text: string) => void }) {
  const [text, setText] = useState('');
  useEffect(() => {
    const t = setTimeout(() => onSearch(text.trim()), 300);
    return () => clearTimeout(t);
  }, [text]);
  return <input type="search" aria-label={label} placeholder={placeholder} value={text} onChange={(e) => setText(e.target.value)} />;
}
